"""``digitzoo serve``: a local web page to draw a digit, read a photo and try kernels, over the library."""
