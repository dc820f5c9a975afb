"""Probe how gluon-aff answers bad input: each case is tried as a user would (a Python call,
or a command in its own process) and its outcome sorted into

- ``clear``: an error that names the problem (a Python exception raised by the package or
  argparse, or a command's ``error:`` line and exit code 2), no MXNet C++ message;
- ``raw``: a traceback, an MXNet/ONNX Runtime internal message, or a crash;
- ``silent``: no error where there should be one (a wrong result, a nan, exit code 0).

    .venv/bin/python benchmarks/probe_bad_inputs.py [--out benchmarks/bad_inputs.md]
        [--json FILE] [--before FILE.json ...] [--root CHECKOUT]

``--root`` probes another checkout (e.g. a ``git worktree`` of an older commit) with this
environment; ``--json`` keeps the results, each ``--before`` adds another run's as a
column (oldest first). benchmarks/bad_inputs_before.json is commit 9af5b5d^ (before the
work on bad input), probed with torch hidden (PYTHONPATH to a folder whose ``torch``
raises ImportError: the gluoncv of that commit refused PyTorch 2);
benchmarks/bad_inputs_76d1747.json is commit 76d1747 (before the PyTorch side stood
alone). The page is written by

    .venv/bin/python benchmarks/probe_bad_inputs.py --json benchmarks/bad_inputs.json \
        --before benchmarks/bad_inputs_before.json --before benchmarks/bad_inputs_76d1747.json

Cases that need something the probed version does not have are ``n/a``.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (not MXNet's informational log lines, such as the one its oneDNN pooling prints in every
# training run)
RAW_MARKERS = ('Traceback (most recent call last)', 'MXNetError', 'Check failed',
               'INVALID_PROTOBUF', 'InvalidProtobuf', 'Segmentation fault', 'core dumped',
               '[ONNXRuntimeError]')

# (case, Python code run in a fresh interpreter; it must raise for a clear error, and
# print OK if it got through). ``T`` is a folder for files, ``ROOT`` the checkout.
API = [
    ('get_model: unknown name', "get_model('iaff_resnet5')"),
    ("get_model: classes='ten'", "get_model('cifar_aff_resnet20', classes='ten')"),
    ('get_model: classes=0', "get_model('cifar_aff_resnet20', classes=0)"),
    ('get_model: r=0', "get_model('cifar_aff_resnet20', r=0)"),
    ('get_model: channel_times=1.5', "get_model('cifar_aff_resnet20', channel_times=1.5)"),
    ('get_model: blocks=0', "get_model('cifar_aff_resnet20', blocks=0)"),
    ('get_model: layers=49', "get_model('aff_resnet50', layers=49)"),
    ("get_model: start_layer='x'", "get_model('cifar_aff_resnet20', start_layer='x')"),
    ("get_model: attention_norm='bogus'", "get_model('cifar_aff_resnet20', attention_norm='bogus')"),
    ('get_model: missing pretrained file',
     "get_model('cifar_aff_resnet20', pretrained=T + '/nope.params')"),
    ('get_model: garbage pretrained file',
     "open(T + '/g.params', 'wb').write(b'x' * 100); "
     "get_model('cifar_aff_resnet20', pretrained=T + '/g.params')"),
    ('get_model: checkpoint of another network',
     "n = get_model('cifar_aff_resnet20', blocks=1, channel_times=1); n.initialize(); "
     "n(mx.nd.zeros((1, 3, 32, 32))); n.save_parameters(T + '/o.params'); "
     "get_model('cifar_iaff_resnet20', pretrained=T + '/o.params')"),
    ('forward: float64 batch', "_net()(mx.nd.zeros((1, 3, 32, 32), dtype='float64'))"),
    ('forward: uint8 batch', "_net()(mx.nd.zeros((1, 3, 32, 32), dtype='uint8'))"),
    ('forward: one channel', "_net()(mx.nd.zeros((1, 1, 32, 32)))"),
    ('forward: channels last', "_net()(mx.nd.zeros((1, 32, 32, 3)))"),
    ('forward: no batch axis', "_net()(mx.nd.zeros((3, 32, 32)))"),
    ('forward: 16x16 into an ImageNet network',
     "n = get_model('resnet50_add'); n.initialize(); n(mx.nd.zeros((1, 3, 16, 16)))"),
    ('features_only: stage 9', "get_model('cifar_aff_resnet20', out_stages=[9])"),
    ('nn: unknown fusion type', "from gluon_aff.nn import create_fusion; create_fusion('bogus', 64, 4)"),
    ('twin: unknown name', "import gluon_aff.torch as t; t.get_model('iaff_resnet5')"),
    ("twin: classes='ten'", "import gluon_aff.torch as t; t.get_model('cifar_aff_resnet20', classes='ten')"),
    ('twin: garbage checkpoint',
     "import gluon_aff.torch as t; open(T + '/g.params', 'wb').write(b'x' * 100); "
     "t.get_model('cifar_aff_resnet20', pretrained=T + '/g.params')"),
    ('twin: one-channel input',
     "import gluon_aff.torch as t, torch; t.get_model('cifar_aff_resnet20')(torch.zeros(1, 1, 32, 32))"),
    ('twin: float64 input to a float32 network',
     "import gluon_aff.torch as t, torch; t.get_model('cifar_aff_resnet20').eval()"
     "(torch.zeros(1, 3, 32, 32, dtype=torch.float64))"),
    ('forward: a batch of zero images',
     "import numpy as np; _net()(mx.nd.array(np.zeros((0, 3, 32, 32), np.float32)))"),
    ('twin: a batch of zero images',
     "import gluon_aff.torch as t, torch; t.get_model('cifar_aff_resnet20').eval()"
     "(torch.zeros(0, 3, 32, 32))"),
    ('twin: truncated .safetensors',
     "import gluon_aff.torch as t; n = t.get_model('cifar_aff_resnet20', blocks=1, "
     "channel_times=1); t.save_safetensors(n, T + '/n.safetensors'); "
     "b = open(T + '/n.safetensors', 'rb').read(); open(T + '/n.safetensors', 'wb').write(b[:len(b) // 2]); "
     "t.get_model('cifar_aff_resnet20', pretrained=T + '/n.safetensors', blocks=1, channel_times=1)"),
    ('twin: pretrained=True without released weights',
     "import gluon_aff.torch as t; t.get_model('cifar_aff_resnet20', pretrained=True)"),
    ('twin finetune: val/ lacks a class',
     "import gluon_aff.torch.finetune as f; _folders(T, ['a', 'b'], ['a']); "
     "f.run(f.FinetuneConfig(model='cifar_aff_resnet20', data_dir=T + '/d', out_dir=T + '/o', "
     "pretrained=False))"),
]
PRELUDE = textwrap.dedent('''
    import os, sys
    import gluon_aff
    import mxnet as mx
    from gluon_aff import get_model
    T = sys.argv[1]
    def _net():
        n = get_model('cifar_aff_resnet20', blocks=1, channel_times=1)
        n.initialize()
        return n
    def _folders(root, train, val):
        import numpy as np
        from PIL import Image
        for split, classes in (('train', train), ('val', val)):
            for c in classes:
                os.makedirs(os.path.join(root, 'd', split, c), exist_ok=True)
                Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(
                    os.path.join(root, 'd', split, c, '0.png'))
''')

# (case, setup code writing files into T (Python), command line with {T} and {ROOT})
CLI = [
    ('eval: empty image folder', "os.makedirs(T + '/empty/a'); n = _net(); "
     "n(mx.nd.zeros((1, 3, 32, 32))); n.save_parameters(T + '/n.params')",
     'gluon-aff eval cifar_aff_resnet20 --blocks 1 --channel-times 1 --params {T}/n.params '
     '--data-dir {T}/empty'),
    ('predict: missing model', '', 'gluon-aff predict {T}/none.onnx {ROOT}/README.md'),
    ('predict: garbage .onnx', "open(T + '/g.onnx', 'wb').write(b'garbage' * 50); "
     "open(T + '/g.json', 'w').write('{\"input_size\": 32, \"mean\": [0, 0, 0], "
     "\"std\": [1, 1, 1], \"crop_ratio\": 1.0, \"interpolation\": \"bilinear\"}')",
     'gluon-aff predict {T}/g.onnx {ROOT}/README.md'),
    ('export: unknown name', '', 'gluon-aff export iaff_resnet5 --format onnx --out {T}/x.onnx'),
    ('summary: unknown name', '', 'gluon-aff summary iaff_resnet5'),
    ('pack-rec: corrupt image', "_folders(T, ['a', 'b'], []); "
     "open(T + '/d/train/a/bad.jpg', 'wb').write(b'\\xff\\xd8garbage')",
     'gluon-aff pack-rec {T}/d/train {T}/out/set'),
    ('train_cifar: --batch-size 0', '',
     'python {ROOT}/train_cifar.py --model resnet --askc-type aff --dataset digits --gpus "" '
     '--batch-size 0 --save-dir {T}/p'),
    ('train_cifar: unknown --askc-type', '',
     'python {ROOT}/train_cifar.py --model resnet --askc-type bogus --dataset digits --gpus "" '
     '--save-dir {T}/p'),
    ('train_cifar: --lr 1e6 (diverges)', '',
     'python {ROOT}/train_cifar.py --model resnet --askc-type aff --dataset digits --gpus "" '
     '-j 0 --blocks 1 --channel-times 1 --num-epochs 1 --lr 1e6 --save-dir {T}/p '
     '--logging-dir {T}/l --save-plot-dir {T} --progress off'),
    # (a file where a folder must go: a read-only folder is no obstacle to root)
    ('train_cifar: unwritable save folder', "open(T + '/file', 'w').close()",
     'python {ROOT}/train_cifar.py --model resnet --askc-type aff --dataset digits --gpus "" '
     '-j 0 --blocks 1 --channel-times 1 --num-epochs 1 --save-dir {T}/file/p '
     '--logging-dir {T}/l --save-plot-dir {T} --progress off'),
    ('train_imagenet: val/ lacks a class', "_folders(T, ['a', 'b'], ['a'])",
     'python {ROOT}/train_imagenet.py --model resnet --askc-type aff --data-dir {T}/d '
     '--num-gpus 0 --dtype float32 --save-dir {T}/p --logging-file {T}/x.log'),
    ('train_imagenet: corrupt image', "_folders(T, ['a', 'b'], ['a', 'b']); "
     "open(T + '/d/train/a/1.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + b'garbage' * 9)",
     'python {ROOT}/train_imagenet.py --model resnet --askc-type DirectAdd --data-dir {T}/d '
     '--num-gpus 0 --dtype float32 --save-dir {T}/p --logging-file {T}/x.log -j 0 '
     '--batch-size 3 --input-size 32 --classes 2 --num-epochs 1 --test-layers 1 --progress off'),
    ('train_imagenet: empty image file', "_folders(T, ['a', 'b'], ['a', 'b']); "
     "open(T + '/d/train/a/1.png', 'wb').close()",
     'python {ROOT}/train_imagenet.py --model resnet --askc-type DirectAdd --data-dir {T}/d '
     '--num-gpus 0 --dtype float32 --save-dir {T}/p --logging-file {T}/x.log -j 0 '
     '--batch-size 2 --input-size 32 --classes 2 --num-epochs 1 --test-layers 1 --progress off'),
    ('eval: --batch-size 0', "n = _net(); n(mx.nd.zeros((1, 3, 32, 32))); "
     "n.save_parameters(T + '/n.params'); _folders(T, ['a', 'b'], ['a', 'b'])",
     'gluon-aff eval cifar_aff_resnet20 --arg blocks=1 --arg channel_times=1 --params '
     '{T}/n.params --data-dir {T}/d/val --batch-size 0'),
    ('eval: --arg classes= (eval sets it)', "n = _net(); n(mx.nd.zeros((1, 3, 32, 32))); "
     "n.save_parameters(T + '/n.params'); _folders(T, ['a', 'b'], ['a', 'b'])",
     'gluon-aff eval cifar_aff_resnet20 --arg blocks=1 --arg channel_times=1 --params '
     '{T}/n.params --data-dir {T}/d/val --arg classes=5'),
    ('export: --batch-size 0', '',
     'gluon-aff export cifar_aff_resnet20 --format onnx --out {T} --batch-size 0'),
    ('export: --arg classes= with --params', "n = _net(); n(mx.nd.zeros((1, 3, 32, 32))); "
     "n.save_parameters(T + '/n.params')",
     'gluon-aff export cifar_aff_resnet20 --format onnx --out {T} --params {T}/n.params '
     '--arg blocks=1 --arg channel_times=1 --arg classes=5'),
    ('bench: --batch-size 0', '',
     'gluon-aff bench cifar_aff_resnet20 --batch-size 0 --paths imperative'),
    ('convert: --arg pretrained= (convert sets it)',
     "import gluon_aff; import mxnet as mx; from gluon_aff import get_model; "
     "n = get_model('cifar_aff_resnet20', blocks=1, channel_times=1); n.initialize(); "
     "n(mx.nd.zeros((1, 3, 32, 32))); n.save_parameters(T + '/o.params')",
     'gluon-aff convert cifar_aff_resnet20 --params {T}/o.params --out {T}/o.safetensors '
     '--arg blocks=1 --arg channel_times=1 --arg pretrained=False'),
    ('finetune: --batch-size 0', "_folders(T, ['a', 'b'], ['a', 'b'])",
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--batch-size 0'),
    ('finetune: --pretrained true without released weights', "_folders(T, ['a', 'b'], ['a', 'b'])",
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--pretrained true --epochs 1 --workers 0'),
    ('finetune: batch larger than the data', "_folders(T, ['a', 'b'], ['a', 'b'])",
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--pretrained false --batch-size 8 --epochs 1 --workers 0'),
    ('finetune: corrupt image', "_folders(T, ['a', 'b'], ['a', 'b']); "
     "open(T + '/d/val/a/1.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + b'garbage' * 9)",
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--pretrained false --batch-size 2 --epochs 1 --workers 1 --mixup 0 --auto-augment none'),
    ('finetune: empty image file', "_folders(T, ['a', 'b'], ['a', 'b']); "
     "open(T + '/d/val/a/1.png', 'wb').close()",
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--pretrained false --batch-size 2 --epochs 1 --workers 0 --mixup 0'),
    ('finetune: empty val/ folder', "_folders(T, ['a', 'b'], ['a', 'b']); "
     "import shutil; shutil.rmtree(T + '/d/val'); os.makedirs(T + '/d/val')",
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--pretrained false --batch-size 2 --epochs 1 --workers 0 --mixup 0'),
    ('finetune: rerun into a finished run\'s folder', "_folders(T, ['a', 'b'], ['a', 'b'])",
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--pretrained false --batch-size 2 --epochs 1 --workers 0 --mixup 0 '
     '--model-kwargs \'{{"blocks": 1, "channel_times": 1}}\' > /dev/null 2>&1; '
     'python -m gluon_aff.torch.finetune cifar_aff_resnet20 {T}/d --out-dir {T}/o '
     '--pretrained false --batch-size 2 --epochs 1 --workers 0 --mixup 0 '
     '--model-kwargs \'{{"blocks": 1, "channel_times": 1}}\''),
    ('convert: checkpoint of another network',
     "import gluon_aff; import mxnet as mx; from gluon_aff import get_model; "
     "n = get_model('cifar_aff_resnet20', blocks=1, channel_times=1); n.initialize(); "
     "n(mx.nd.zeros((1, 3, 32, 32))); n.save_parameters(T + '/o.params')",
     'gluon-aff convert cifar_iaff_resnet56 --params {T}/o.params --out {T}/o.safetensors'),
]


def classify(code, output, expect_cli):
    raw = any(m in output for m in RAW_MARKERS)
    if code is None:
        return 'n/a'
    if expect_cli:
        if code == 0:
            return 'silent'
        if code < 0 or raw:
            return 'raw'
        return 'clear' if 'error' in output.lower() else 'raw'
    if code == 0:
        return 'silent'
    if 'CLEAR:' in output and not any(m in output.split('CLEAR:', 1)[1] for m in RAW_MARKERS):
        return 'clear'
    return 'raw'


API_RUNNER = PRELUDE + textwrap.dedent('''
    try:
        exec(sys.argv[2])
    except (ImportError, AttributeError) as e:
        if 'gluon_aff' in str(e) or 'finetune' in str(e) or 'torch' in str(e):
            print('N/A: %s' % e); sys.exit(3)
        print('RAW: %s: %s' % (type(e).__name__, e)); sys.exit(1)
    except Exception as e:
        import traceback
        text = '%s: %s' % (type(e).__name__, e)
        # a clear error is one the package raised itself (its message, not MXNet's, torch's
        # or Python's from deep inside)
        # (a ZeroDivisionError or a TypeError from the package's own arithmetic is not)
        frame = traceback.extract_tb(e.__traceback__)[-1]
        clear = ('/gluon_aff/' in frame.filename and (frame.line or '').startswith('raise')
                 and not isinstance(e, mx.base.MXNetError))
        print(('CLEAR: ' if clear else 'RAW: ') + text)
        sys.exit(1)
    print('OK'); sys.exit(0)
''')


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))


def run_api(case, code, tmp):
    out = subprocess.run([sys.executable, '-c', API_RUNNER, tmp, code], cwd=ROOT, env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=600)
    if out.returncode == 3:
        return 'n/a', out.stdout.strip().splitlines()[-1]
    lines = [l for l in out.stdout.strip().splitlines() if l.startswith(('CLEAR', 'RAW', 'OK'))]
    last = lines[-1] if lines else out.stdout.strip()[-200:]
    return classify(out.returncode, out.stdout, False), last


def run_cli(case, setup, command, tmp):
    if setup:
        subprocess.run([sys.executable, '-c', PRELUDE + setup, tmp], cwd=ROOT, check=True,
                       env=_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    command = command.format(T=tmp, ROOT=ROOT)
    command = command.replace('python ', sys.executable + ' ')
    if command.startswith('gluon-aff '):
        command = sys.executable + ' -m gluon_aff' + command[len('gluon-aff'):]
    out = subprocess.run(command, shell=True, cwd=tmp, env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=900)
    lines = [l for l in out.stdout.strip().splitlines() if l.strip() and not l.startswith('[')]
    last = next((l for l in reversed(lines) if 'error' in l.lower()), lines[-1] if lines else '')
    return classify(out.returncode, out.stdout, True), '(exit %d) %s' % (out.returncode, last)


def main():
    global ROOT
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=os.path.join(ROOT, 'benchmarks', 'bad_inputs.md'))  # noqa
    p.add_argument('--json', default=None, help='also write the results here')
    p.add_argument('--before', action='append', default=[],
                   help='results of an earlier version (its --json); repeat for several')
    p.add_argument('--root', default=None, help='the checkout to probe (default: this one)')
    args = p.parse_args()
    ROOT = os.path.abspath(args.root or ROOT)
    results = {}
    for case, code in API:
        tmp = tempfile.mkdtemp()
        results[case] = run_api(case, code, tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        print('%-45s %s' % (case, results[case][0]), file=sys.stderr, flush=True)
    for case, setup, command in CLI:
        tmp = tempfile.mkdtemp()
        try:
            results[case] = run_cli(case, setup, command, tmp)
        finally:
            subprocess.run(['chmod', '-R', 'u+w', tmp])
            shutil.rmtree(tmp, ignore_errors=True)
        print('%-45s %s' % (case, results[case][0]), file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    befores = []
    for path in args.before:
        with open(path) as f:
            befores.append((os.path.splitext(os.path.basename(path))[0], json.load(f)))
    lines = ['# Bad input: what the user sees', '',
             'Written by `benchmarks/probe_bad_inputs.py`: each case tried as a user would, in '
             'its own process. clear = an error naming the problem; raw = a traceback or an '
             'internal MXNet/ONNX Runtime message; silent = no error; n/a = the version has no '
             'such feature.', '']
    for label, outcomes in befores + [('now', results)]:
        counts = {}
        for case in results:
            outcome = outcomes.get(case, ['n/a'])[0]
            counts[outcome] = counts.get(outcome, 0) + 1
        lines.append('- %s: %s.' % (label, ', '.join('%d %s' % (n, k)
                                                      for k, n in sorted(counts.items()))))
    head = ['case'] + [label for label, _ in befores] + ['now', 'what the user sees now']
    lines += ['', '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for case, (outcome, text) in results.items():
        text = text.replace('|', '\\|').replace('\n', ' ')[:160]
        cells = [case] + [b.get(case, ['n/a'])[0] for _, b in befores] + [outcome, text]
        lines.append('| ' + ' | '.join(cells) + ' |')
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
