"""``gluon-aff convert NAME --params FILE --out FILE.safetensors``: an MXNet checkpoint as a
PyTorch one (the twin's key names), with no MXNet needed."""
from . import register_command
from .args import add_arg_option, parse_kwargs


def configure(p):
    p.add_argument('name', help='zoo name (`gluon-aff list`)')
    p.add_argument('--params', required=True,
                   help='the MXNet .params file (released or your own); `released` fetches '
                        "the name's released checkpoint")
    p.add_argument('--out', required=True,
                   help='where to write it: .safetensors, or .pt/.pth for torch.save')
    add_arg_option(p)


def run(args):
    import torch
    from ..core.atomic import atomic_path
    from .. import torch as twin
    from ..torch.weights import save_safetensors
    pretrained = True if args.params == 'released' else args.params
    net = twin.get_model(args.name, pretrained=pretrained, **parse_kwargs(args.arg))
    with atomic_path(args.out) as tmp:
        if args.out.endswith('.safetensors'):
            save_safetensors(net, tmp, metadata={'model': args.name, 'source': args.params})
        else:
            torch.save(net.state_dict(), tmp)
    print('%s: %s -> %s (%d tensors)' % (args.name, args.params, args.out,
                                          len(net.state_dict())))
    return 0


register_command('convert', 'Write an MXNet checkpoint of a zoo network as a PyTorch one '
                 '(the twin gluon_aff.torch; timm and torch.load read it).', configure, run,
                 example='gluon-aff convert iaff_resnet50 --params released '
                         '--out iaff_resnet50.safetensors')
