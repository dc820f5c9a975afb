"""Tools users reach for before training: the graph-based counter, Grad-CAM."""
