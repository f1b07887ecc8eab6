"""robosplice: fast, lossless, safe editing of LeRobot v3.0 datasets."""
