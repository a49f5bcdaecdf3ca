from onetui.cli import main

main()
