"""Real photographs that ship with the project's dependencies (nothing to download): the
demo's default image, the bench's accuracy crops, the tests' real inputs."""
import os

__all__ = ['sample_photos']


def sample_photos():
    """Paths of matplotlib's photograph of Grace Hopper (first) and scikit-learn's two
    sample images (a Chinese temple, a flower)."""
    import matplotlib
    import sklearn.datasets
    images = os.path.join(os.path.dirname(sklearn.datasets.__file__), 'images')
    return [os.path.join(matplotlib.get_data_path(), 'sample_data', 'grace_hopper.jpg')] + [
        os.path.join(images, name) for name in ('china.jpg', 'flower.jpg')]
