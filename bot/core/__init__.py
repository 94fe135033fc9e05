"""Pure: facts and policy in, verdict and record out. Nothing here performs I/O."""
