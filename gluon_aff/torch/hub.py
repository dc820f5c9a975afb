"""A twin network as a Hugging Face Hub folder, the way timm ships its models:
``config.json`` (architecture, num_classes, num_features, the pretrained config with the
preprocessing, the build arguments), ``model.safetensors`` (the state dict, with the model
name and class names in its metadata) and a ``README.md`` model card. timm reads it back
with ``timm.create_model('local-dir:FOLDER', pretrained=True)``, or ``hf-hub:USER/REPO``
once the folder is uploaded.
"""
import json
import os

from ..core.atomic import atomic_files
from ..core.zoo import get_model_info
from .pretrained import save_safetensors
from .summary import count_layers, totals

__all__ = ['save_hub_folder', 'model_card']

PAPER = ('Yimian Dai, Fabian Gieseke, Stefan Oehmcke, Yiquan Wu, Kobus Barnard: Attentional '
         'Feature Fusion. WACV 2021. https://arxiv.org/abs/2009.14082')


def _config(net, info, model_args, class_names, checkpoint):
    cfg = {k: v for k, v in net.pretrained_cfg.items()
           if k not in ('file', 'source', 'state_dict', 'hf_hub_id', 'url') and v is not None}
    cfg.update(input_size=list(cfg.get('input_size', (3, info.input_size, info.input_size))),
               mean=list(info.mean), std=list(info.std), num_classes=net.num_classes)
    cfg.pop('label_names', None)
    if checkpoint is not None:
        cfg['tag'] = dict(imagenet='in1k', fine='cifar100', coarse='cifar100_coarse')[
            checkpoint.labels]
    config = dict(architecture=info.name, num_classes=net.num_classes,
                  num_features=net.num_features, global_pool=_pool_type(net),
                  pretrained_cfg=cfg)
    if model_args:
        config['model_args'] = model_args
    if class_names:
        config['label_names'] = list(class_names)
    return config


def _pool_type(net):
    pool = getattr(net, 'global_pool', None)
    return getattr(pool, 'pool_type', None) if pool is not None else None


def model_card(info, net, counts, checkpoint=None, model_args=None, class_names=None,
               folder_name='FOLDER'):
    """The README.md of a Hub folder: what the network is, where its weights come from,
    how well they do, what they cost, how to preprocess and how to load them."""
    lines = ['---', 'tags:', '- image-classification' if info.family != 'fpn_resnet'
             else '- image-segmentation', '- timm', '- gluon-aff', 'library_name: timm',
             'license: apache-2.0', '---', '', '# %s' % info.name, '', info.description + '.', '']
    lines += ['The %s family of gluon-aff (`%s`), in PyTorch (`gluon_aff.torch`).'
              % (info.family, info.fusion), '',
              '## Paper', '', PAPER, '', '## Licence', '',
              'Apache-2.0, as the original code (https://github.com/YimianDai/open-aff).', '']
    lines += ['## Weights', '']
    if checkpoint is not None:
        metric = 'top-1 error' if checkpoint.metric == 'top1_err' else 'top-1 accuracy'
        label_set = {'imagenet': 'ImageNet-1k', 'fine': 'CIFAR-100 (100 classes)',
                     'coarse': 'CIFAR-100 superclasses (20 labels on a 100-way head)'}[
                         checkpoint.labels]
        lines += ['Released by the authors as `%s` (git blob id `%s`), converted without '
                  'change (BatchNorm gamma/beta renamed weight/bias).'
                  % (checkpoint.file, checkpoint.git_blob_id), '',
                  '| label set | %s (released) | paper |' % metric, '|---|---|---|',
                  '| %s | %.4f | %s |' % (label_set, checkpoint.value,
                                          checkpoint.paper['value'] if checkpoint.paper
                                          else '-'), '']
    else:
        lines += ['Weights of your own (no released file).', '']
    lines += ['## Cost', '',
              '| parameters | multiply-adds at %dx%d |' % (info.input_size, info.input_size),
              '|---|---|',
              '| %s | %.3f G (attention %.1f%%) |'
              % (format(counts['params'], ','), counts['macs'] / 1e9,
                 100.0 * counts['attention_macs'] / max(counts['macs'], 1)), '',
              'Parameters include the BatchNorm statistics; multiply-adds count '
              'convolutions and linear layers once per multiply-add (the paper counts 2).', '']
    lines += ['## Preprocessing', '',
              'RGB in [0, 1], resized so that the short side is ceil(%d / %s) pixels '
              '(%s), centre-cropped to %dx%d, normalised with mean %s and std %s.'
              % (info.input_size, info.crop_ratio, info.interpolation or 'no resize',
                 info.input_size, info.input_size, list(info.mean), list(info.std)), '']
    args = ''.join(', %s=%r' % kv for kv in sorted((model_args or {}).items()))
    lines += ['## Usage', '', '```python', 'import timm',
              'import gluon_aff.torch  # registers the gluon-aff names with timm', '',
              "model = timm.create_model('local-dir:%s', pretrained=True).eval()"
              % folder_name,
              "config = timm.data.resolve_data_config({}, model=model)",
              'transform = timm.data.create_transform(**config)', '',
              '# or, with the MXNet side\'s exact resize:',
              "net = gluon_aff.torch.get_model('%s', pretrained='%s/model.safetensors'%s)"
              % (info.name, folder_name, args), '```', '']
    if class_names:
        lines += ['Classes: %d (%s, ...).' % (len(class_names), ', '.join(class_names[:5])), '']
    return '\n'.join(lines)


def save_hub_folder(net, folder, model_args=None, class_names=None, checkpoint=None):
    """Write ``net`` (a twin network) as a Hub folder: ``config.json``, ``model.safetensors``
    and ``README.md``, all three or none (written beside and renamed into place).
    ``model_args``: the build arguments that differ from the name's (``blocks=1``);
    ``class_names``: the names of its outputs; ``checkpoint``: the released file it holds."""
    info = get_model_info(net.zoo_name)
    size = info.input_size
    counts = totals(count_layers(net, (1, 3, size, size)))
    config = _config(net, info, model_args, class_names, checkpoint)
    card = model_card(info, net, counts, checkpoint, model_args, class_names,
                      os.path.basename(os.path.abspath(folder)))
    os.makedirs(folder, exist_ok=True)
    names = ['model.safetensors', 'README.md', 'config.json']     # config.json, read first, last
    with atomic_files([os.path.join(folder, n) for n in names]) as tmp:
        save_safetensors(net, tmp[0], model=info.name, class_names=class_names,
                         model_args=model_args,
                         source=checkpoint.file if checkpoint is not None else None)
        with open(tmp[1], 'w') as f:
            f.write(card + '\n')
        with open(tmp[2], 'w') as f:
            json.dump(config, f, indent=2)
    return folder
