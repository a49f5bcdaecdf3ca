"""Virtual labs (the seed's scenario 3): a master template turned into seats for students,
each with its own disk, address and login, handed out and verified by logging in."""
