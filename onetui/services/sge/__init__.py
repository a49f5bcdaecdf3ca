"""Sun Grid Engine: read the grid (qstat/qhost XML), submit jobs, join and remove exec hosts."""
