"""``gluon-aff list [PATTERN]``: the zoo as a table (MXNet or the PyTorch twin)."""
import json

from . import register_command
from .frameworks import add_framework_option, build, count_trainable, pick_framework
from ..core.zoo import get_model_info, list_models


def _checkpoint_text(info):
    parts = []
    for c in info.checkpoints:
        metric = 'top-1 err' if c.metric == 'top1_err' else 'acc'
        text = '%s %s %.4f' % (c.labels, metric, c.value)
        if c.paper:
            text += ' (paper %s)' % c.paper['value']
        parts.append(text)
    return '; '.join(parts) or '-'


def rows(pattern=None, framework=None):
    framework = pick_framework(framework)
    for name in list_models(pattern):
        info = get_model_info(name)
        params = count_trainable(framework, build(framework, name))
        yield dict(name=name, family=info.family, fusion=info.fusion,
                   params_m=round(params / 1e6, 2), input_size=info.input_size,
                   released=_checkpoint_text(info))


def configure(p):
    p.add_argument('pattern', nargs='?', default=None,
                   help="shell-style wildcard on the names, e.g. '*iaff*'")
    p.add_argument('--json', action='store_true', help='one JSON object per line')
    add_framework_option(p)


def run(args):
    table = list(rows(args.pattern, args.framework))
    if not table:
        print("no model matches '%s'; `gluon-aff list` shows all" % args.pattern)
        return 1
    if args.json:
        for row in table:
            print(json.dumps(row))
        return 0
    header = ('name', 'family', 'fusion', 'params (M)', 'input', 'released checkpoint')
    cells = [(r['name'], r['family'], r['fusion'], '%.2f' % r['params_m'],
              '%d' % r['input_size'], r['released']) for r in table]
    widths = [max(len(str(c[i])) for c in cells + [header]) for i in range(len(header))]
    fmt = '  '.join('%%-%ds' % w for w in widths)
    print(fmt % header)
    print(fmt % tuple('-' * w for w in widths))
    for c in cells:
        print(fmt % c)
    return 0


register_command('list', 'List the zoo: family, fusion, parameters, input size, released '
                 'checkpoints.', configure, run, example="gluon-aff list '*iaff*'")
