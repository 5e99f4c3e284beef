"""Stage 3 of the data flow: Conv2d / Linear layers -> (R, C) weight matrices."""
