"""The AFI settings of the AFINets paper and the widths they give each block of a stage:
shared by the MXNet zoo (``model_zoo/afi_*``) and the PyTorch twin (``torch/models/afi_*``),
needing neither framework (``model_zoo/afi_common.py`` describes the settings)."""

__all__ = ['AFI_SETTINGS', 'afi_widths']

# setting -> reduction ratio of the AFI scorer (the AFINets paper, section 3.3)
AFI_SETTINGS = {'A': 4, 'B': 16}


def afi_widths(width, index, setting, r=None):
    """``(first_conv_width, feature_width, afi_r)`` of block ``index`` (0-based) of a stage
    whose plain blocks have first-convolution width ``width``; setting None = plain;
    ``r`` overrides the setting's reduction ratio."""
    if setting is None:
        return width, None, None
    if setting not in AFI_SETTINGS:
        raise ValueError("AFI setting must be 'A' or 'B', got %r" % (setting,))
    feature = width // 2 if setting == 'A' else width
    if index == 0:
        return width, feature, None
    return feature, feature, r or AFI_SETTINGS[setting]
