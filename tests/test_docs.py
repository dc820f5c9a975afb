"""The README's and the docs' snippets stay true: every Python block runs, every shell
command names a real program, subcommand, flag and make target (checked by the program's
own parser), and blocks marked ``<!-- snippet: run -->`` are run. Python blocks that load
the released checkpoints are marked ``<!-- snippet: fake-weights (why) -->`` and run with
random weights in place of the download (every name, argument and the photograph's path
are still exercised). Blocks that need a GPU or files the page cannot make are marked
``<!-- snippet: skip (why) -->``."""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = [os.path.join(ROOT, 'README.md')] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
MARK = re.compile(r'<!--\s*snippet:\s*(skip|run|check-flags|fake-weights)\b\s*(.*?)-->')


def snippets(path):
    """[(language, code, mark, line number)] of the fenced blocks of a page."""
    lines = open(path).read().splitlines()
    found, i = [], 0
    while i < len(lines):
        m = re.match(r'^```(\w+)\s*$', lines[i])
        if m:
            mark = MARK.search(lines[i - 1]) if i else None
            j = i + 1
            while not lines[j].startswith('```'):
                j += 1
            found.append((m.group(1), '\n'.join(lines[i + 1:j]),
                          mark.group(1) if mark else None, i + 1))
            if mark and mark.group(1) in ('skip', 'fake-weights'):
                assert mark.group(2).strip(), '%s:%d: say why a snippet is skipped' % (path, i)
            i = j
        i += 1
    return found


def _commands(code):
    """Shell commands of a block: continuation lines joined, comments dropped."""
    joined = re.sub(r'\\\n\s*', ' ', code)
    return [shlex.split(line, comments=True) for line in joined.splitlines()
            if line.strip() and not line.strip().startswith('#')]


def _check_command(argv, where):
    """Parse ``argv`` with the parser of the program it runs; a renamed flag fails."""
    from gluon_aff.cli import build_parser
    from gluon_aff.train.launch import build_parser as launch_parser
    from gluon_aff.train.options import cifar_parser, imagenet_parser
    from gluon_aff.train.seg import seg_parser
    prog, args = os.path.basename(argv[0]), argv[1:]
    if prog == 'export':
        return
    if prog == 'make':
        targets = re.findall(r'^([\w-]+):', open(os.path.join(ROOT, 'Makefile')).read(), re.M)
        assert all(a in targets or '=' in a for a in args), (where, argv, targets)
        return
    if prog == 'torchrun':          # torchrun [its options] -m MODULE ARGS
        prog, args = 'python', args[args.index('-m'):]
    if prog.startswith('python'):
        if args[:2] == ['-m', 'gluon_aff.torch.finetune']:
            from gluon_aff.torch.finetune import parse_args
            parse_args(args[2:])
            return
        if args[:2] == ['-m', 'gluon_aff.train.launch']:
            split = args.index('--')
            launch_parser().parse_args(args[2:split])
            return _check_command(args[split + 1:], where)
        if args[:2] == ['-m', 'gluon_aff']:
            prog, args = 'gluon-aff', args[2:]
        else:
            script, args = os.path.basename(args[0]), args[1:]
            parsers = {'train_cifar.py': cifar_parser, 'train_imagenet.py': imagenet_parser,
                       'train_seg.py': seg_parser}
            if script in parsers:
                parsers[script]().parse_args(args)
                return
            assert os.path.exists(os.path.join(ROOT, args and script or script)) or \
                os.path.exists(os.path.join(ROOT, 'benchmarks', script)), (where, argv)
            return
    assert prog == 'gluon-aff', '%s: unknown program %r in %s' % (where, prog, argv)
    build_parser().parse_args(args)


@pytest.mark.parametrize('page', PAGES, ids=[os.path.relpath(p, ROOT) for p in PAGES])
def test_shell_snippets_name_real_commands_and_flags(page, capsys):
    for lang, code, mark, line in snippets(page):
        if lang not in ('bash', 'sh') or mark == 'skip':
            continue
        for argv in _commands(code):
            where = '%s:%d' % (os.path.relpath(page, ROOT), line)
            try:
                _check_command(argv, where)
            except SystemExit:
                pytest.fail('%s: %s does not parse: %s' % (where, ' '.join(argv),
                                                          capsys.readouterr().err.strip()))


RUNNER = r'''
import json, sys, traceback
from gluon_aff.model_zoo import pretrained      # (gluon_aff first: it makes MXNet run on numpy 2)
import mxnet as mx

download = pretrained.load_pretrained
from gluon_aff.torch import pretrained as twin_weights
twin_download = twin_weights.load_checkpoint


RELEASED = ('fine', 'coarse', 'imagenet', 'in1k', 'cifar100', 'cifar100_coarse')


def random_weights(net, model, which, ctx=None, root=None):
    if isinstance(which, str) and which not in RELEASED:
        return download(net, model, which, ctx, root)       # a file of the user's own
    net.initialize(mx.init.Xavier(), ctx=ctx or mx.cpu())


def twin_random_weights(net, model, which, root=None):
    if isinstance(which, str) and which not in RELEASED:
        return twin_download(net, model, which, root)
    return net                                  # the twin's modules start initialised


failures = []
for page, blocks in json.load(open(sys.argv[1])):
    namespace = {'__name__': '__snippet__'}
    for line, code, mark in blocks:
        pretrained.load_pretrained = random_weights if mark == 'fake-weights' else download
        twin_weights.load_checkpoint = (twin_random_weights if mark == 'fake-weights'
                                        else twin_download)
        try:
            exec(compile(code, '%s:%d' % (page, line), 'exec'), namespace)
        except Exception:
            failures.append('%s:%d\n%s' % (page, line, traceback.format_exc(limit=3)))
            break
print(json.dumps(failures))
'''


def test_python_snippets_run(tmp_path):
    pages = []
    for page in PAGES:
        blocks = [(line, code, mark) for lang, code, mark, line in snippets(page)
                  if lang == 'python' and mark != 'skip']
        if blocks:
            pages.append((os.path.relpath(page, ROOT), blocks))
    assert len(pages) >= 4
    spec = tmp_path / 'snippets.json'
    spec.write_text(json.dumps(pages))
    from gluon_aff.data.photos import sample_photos      # the pages' 'photo.jpg'
    shutil.copy(sample_photos()[0], str(tmp_path / 'photo.jpg'))
    env = dict(os.environ, MXNET_HOME=str(tmp_path / 'mxnet_home'), MPLBACKEND='Agg')
    env.pop('MXNET_ENGINE_TYPE', None)
    out = subprocess.run([sys.executable, '-c', RUNNER, str(spec)], cwd=str(tmp_path),
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    failures = json.loads(out.stdout.strip().splitlines()[-1])
    assert not failures, '\n\n'.join(failures)


def test_run_marked_shell_snippets(tmp_path):
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ['PATH'],
               MXNET_HOME=str(tmp_path / 'mxnet_home'))
    ran = 0
    for page in PAGES:
        for lang, code, mark, line in snippets(page):
            if lang in ('bash', 'sh') and mark == 'run':
                out = subprocess.run(['bash', '-euo', 'pipefail', '-c', code], cwd=str(tmp_path),
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, timeout=120)
                assert out.returncode == 0, '%s:%d\n%s' % (page, line, out.stdout[-2000:])
                ran += 1
    assert ran >= 1
