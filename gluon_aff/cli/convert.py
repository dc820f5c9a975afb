"""``gluon-aff convert NAME --params FILE (--out FILE.safetensors | --hub-dir DIR)``: an MXNet
checkpoint (released or your own) as a PyTorch one with the twin's key names, or as a Hub
folder timm loads; no MXNet needed."""
from . import register_command
from .args import add_arg_option, parse_kwargs


def configure(p):
    p.add_argument('name', help='zoo name (`gluon-aff list`)')
    p.add_argument('--params', required=True,
                   help="the MXNet .params file (released or your own), or `released` (the "
                        "name's default released file) or a tag (in1k, cifar100, "
                        'cifar100_coarse), fetched and verified')
    p.add_argument('--out', default=None,
                   help='a PyTorch checkpoint to write: .safetensors (with the model and class '
                        'names in its metadata), or .pt/.pth for torch.save')
    p.add_argument('--hub-dir', default=None, metavar='DIR',
                   help='a Hugging Face Hub folder to write: config.json, model.safetensors '
                        "and a README.md model card; timm.create_model('local-dir:DIR', "
                        'pretrained=True) loads it')
    add_arg_option(p)


def run(args):
    import torch
    from ..core.atomic import atomic_path
    from .. import torch as twin
    from ..torch.hub import save_hub_folder
    from ..torch.pretrained import save_safetensors
    if not args.out and not args.hub_dir:
        raise ValueError('give --out FILE, --hub-dir DIR or both')
    kwargs = parse_kwargs(args.arg)
    pretrained = True if args.params == 'released' else args.params
    net = twin.get_model(args.name, pretrained=pretrained, **kwargs)
    checkpoint = getattr(net, 'checkpoint', None)
    names = getattr(net, 'class_names', None)
    if args.out:
        with atomic_path(args.out) as tmp:
            if args.out.endswith('.safetensors'):
                save_safetensors(net, tmp, class_names=names, model_args=kwargs,
                                 source=checkpoint.file if checkpoint else args.params)
            else:
                torch.save(net.state_dict(), tmp)
        print('%s: %s -> %s (%d tensors)' % (args.name, args.params, args.out,
                                              len(net.state_dict())))
    if args.hub_dir:
        save_hub_folder(net, args.hub_dir, model_args=kwargs, class_names=names,
                        checkpoint=checkpoint)
        print("%s: %s -> %s/ (config.json, model.safetensors, README.md); load it with "
              "timm.create_model('local-dir:%s', pretrained=True)"
              % (args.name, args.params, args.hub_dir.rstrip('/'), args.hub_dir.rstrip('/')))
    return 0


register_command('convert', 'Write an MXNet checkpoint of a zoo network as a PyTorch one '
                 '(the twin gluon_aff.torch; timm and torch.load read it), or as a Hub '
                 'folder for timm.', configure, run,
                 example='gluon-aff convert iaff_resnet50 --params released '
                         '--hub-dir iaff_resnet50.in1k')
