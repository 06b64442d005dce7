"""Image processing on OpenCV: convolution kernels and MNIST-style digits from photos.

Arrays follow OpenCV's conventions: (H, W) grayscale or (H, W, C) with C = 3 (BGR) or 4 (BGRA).
"""
