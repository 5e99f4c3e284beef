"""Stage 4 of the data flow: weight matrices -> crossbar tiles."""
