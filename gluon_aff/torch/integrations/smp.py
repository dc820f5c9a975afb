"""segmentation_models_pytorch's U-Net with a fusion block at every skip connection."""
from torch import nn

from ..necks.unet import UNetDecoderBlock

__all__ = ['SMPDecoderBlock', 'smp_unet']


class SMPDecoderBlock(UNetDecoderBlock):
    """``UNetDecoderBlock`` called as smp's ``UnetDecoderBlock`` is (smp 0.5-0.6):
    ``forward(feature_map, target_height, target_width, skip_connection=None)``."""

    def forward(self, feature_map, target_height: int, target_width: int,
                skip_connection=None):
        return super().forward(feature_map, skip_connection, [target_height, target_width])


def smp_unet(encoder_name='tu-iaff_resnet50', fusion='aff', r=4, **smp_kwargs):
    """``segmentation_models_pytorch.Unet(encoder_name, **smp_kwargs)`` whose decoder
    blocks fuse the skip connection with ``fusion`` (``UNetDecoderBlock``) instead of
    concatenating it; its encoder, segmentation head and arguments are smp's. The zoo's
    names are smp encoders as ``'tu-' + name`` (e.g. ``'tu-iaff_resnet50'``)."""
    try:
        import segmentation_models_pytorch as smp
    except ImportError as e:
        raise ImportError('smp_unet needs segmentation_models_pytorch: pip install '
                          'segmentation-models-pytorch (tested with 0.6.0)') from e
    model = smp.Unet(encoder_name, **smp_kwargs)
    encoder = list(model.encoder.out_channels)[1:][::-1]     # deepest first, as smp's decoder
    blocks = model.decoder.blocks
    decoder = [b.conv2[0].out_channels for b in blocks]
    ins = [encoder[0]] + decoder[:-1]
    skips = encoder[1:] + [0] * (len(blocks) - len(encoder) + 1)
    norm = type(blocks[0].conv1[1]) if isinstance(blocks[0].conv1[1], nn.BatchNorm2d) else None
    for i, old in enumerate(blocks):
        if old.conv1[0].in_channels != ins[i] + skips[i]:
            raise RuntimeError('smp_unet: this segmentation_models_pytorch lays its decoder '
                               'out otherwise (block %d takes %d channels, expected %d + %d); '
                               'tested with 0.6.0' % (i, old.conv1[0].in_channels, ins[i],
                                                      skips[i]))
        blocks[i] = SMPDecoderBlock(ins[i], skips[i], decoder[i], fusion=fusion, r=r,
                                    norm_layer=norm)
    return model
