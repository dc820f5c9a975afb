"""How far above their thresholds the learning tests stay, over seeds and oneDNN levels.

Reruns the tests whose assertions depend on a training outcome, as the suite runs them
(same pytest options), once per (oneDNN level, seed), with GLUON_AFF_TEST_SEED and
DNNL_MAX_CPU_ISA / MXNET_MKLDNN_ENABLED set, and collects what they record
(tests/helpers.py: record_metric). Writes benchmarks/learning_margins.md.

    .venv/bin/python benchmarks/learning_margins.py [--seeds 0 1 2] [--levels default SSE41 off]
        [--only gradcam]

The rows are kept in benchmarks/learning_margins.json; ``--only`` reruns the matching tests
and replaces their rows.

Thresholds are kept at least 3 points (0.03, or one hit of 8) under the worst value.
Run it alone: other MXNet processes on the same cores slow it down many times over.
"""
import argparse
import collections
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

TESTS = ['tests/train/test_training_scripts.py::test_digits_learning',
         'tests/model_zoo/test_afinets.py::test_small_afi_resnet_learns_digits',
         'tests/train/test_segmentation.py::test_train_seg_learns_generated_stop_signs',
         'tests/tools/test_summary_eval_gradcam.py::test_gradcam_peaks_on_the_object',
         'tests/torch_twin/test_twin_finetune.py::'
         'test_finetune_moves_an_mxnet_trained_network_to_a_new_task']

# level name -> environment
LEVELS = {'default': {}, 'SSE41': {'DNNL_MAX_CPU_ISA': 'SSE41'},
          'AVX2': {'DNNL_MAX_CPU_ISA': 'AVX2'},
          'AVX512_CORE': {'DNNL_MAX_CPU_ISA': 'AVX512_CORE'},
          'off': {'MXNET_MKLDNN_ENABLED': '0'}}


def machine_line():
    """'CPU model, N cores (flags), date': where and when a row was measured."""
    from gluon_aff.tools.isa_check import cpu_model, flags_present
    return '%s, %d cores (%s), %s' % (
        cpu_model(), len(os.sched_getaffinity(0)),
        flags_present(('avx512f', 'avx2', 'sse4_1', 'amx_tile')),
        datetime.date.today().isoformat())


def run(levels, seeds, tests=TESTS):
    rows = []
    machine = machine_line()
    for level in levels:
        for seed in seeds:
            with tempfile.NamedTemporaryFile(suffix='.jsonl', delete=False) as f:
                path = f.name
            env = dict(os.environ, GLUON_AFF_TEST_SEED=str(seed), GLUON_AFF_METRICS=path,
                       **LEVELS[level])
            print('level %s seed %d ...' % (level, seed), file=sys.stderr, flush=True)
            # (--run-e2e: AFI-ResNet's learning run is in the end-to-end tier)
            subprocess.run([sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider',
                            '--run-e2e'] + tests,
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
            with open(path) as f:
                for line in f:
                    row = json.loads(line)
                    row['level'] = level
                    row['machine'] = machine
                    rows.append(row)
            os.remove(path)
    return rows


def table(rows, levels, seeds):
    by = collections.OrderedDict()
    for r in rows:
        by.setdefault(r['test'], []).append(r)
    lines = ['| test | threshold | %s | worst | margin | measured on |' % ' | '.join(
        '%s (seeds %s)' % (lv, ', '.join(map(str, seeds))) for lv in levels),
        '|---|---|' + '---|' * len(levels) + '---|---|---|']
    for test, rs in by.items():
        cells = []
        for lv in levels:
            vals = [r['value'] for s in seeds for r in rs if r['level'] == lv and r['seed'] == s]
            cells.append(' / '.join('%g' % v for v in vals) or '-')
        worst = min(r['value'] for r in rs)
        machines = sorted({r.get('machine', '?') for r in rs})
        lines.append('| %s | %g | %s | %g | %+.4g | %s |' % (test, rs[0]['threshold'],
                                                             ' | '.join(cells), worst,
                                                             worst - rs[0]['threshold'],
                                                             '; '.join(machines)))
    return '\n'.join(lines)


def main():
    from gluon_aff.tools.isa_check import isa_levels
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--levels', nargs='+', default=None, choices=list(LEVELS),
                   help='default: default, SSE41, off, and AVX2/AVX512_CORE where the CPU has '
                        'them and they differ from the default')
    p.add_argument('--out', default=os.path.join(HERE, 'learning_margins.md'))
    p.add_argument('--only', default=None, help='rerun only the tests whose id contains this')
    args = p.parse_args()
    offered = [lv for lv, reason in isa_levels() if reason is None]
    levels = args.levels or (['default', 'SSE41', 'off'] + (
        ['AVX2'] if 'AVX512_CORE' in offered else []))
    tests = [t for t in TESTS if not args.only or args.only in t]
    if not tests:       # (pytest given no test would run the whole suite)
        p.error('--only %r matches none of: %s' % (args.only, ', '.join(TESTS)))
    rows = run(levels, args.seeds, tests)
    store = os.path.splitext(args.out)[0] + '.json'
    if args.only and os.path.exists(store):
        # keep every stored result this run did not measure again (test, level, seed)
        measured = {(r['test'], r['level'], r['seed']) for r in rows}
        with open(store) as f:
            kept = [r for r in json.load(f)
                    if (r['test'], r['level'], r['seed']) not in measured]
        rows = kept + rows
    with open(store, 'w') as f:
        json.dump(rows, f, indent=1)
    # the table shows every level and seed of the stored rows, not only this run's
    levels = [lv for lv in LEVELS if any(r['level'] == lv for r in rows)]
    seeds = sorted({r['seed'] for r in rows})
    print(write_table(rows, levels, seeds, args.out))


def write_table(rows, levels, seeds, out):
    text = '\n'.join([
        '# Learning tests: margins over seeds and oneDNN levels', '',
        'Measured by `benchmarks/learning_margins.py` (last run: Python %s), as the suite '
        'runs the tests (pytest-xdist workers, one OpenMP thread each); each row says on '
        'which machine. "default" is oneDNN at the best level that CPU has, "off" is '
        'MXNET_MKLDNN_ENABLED=0 (the PyTorch test fine-tunes the suite\'s MXNet digits '
        'network, which depends on both).'
        % platform.python_version(), '',
        table(rows, levels, seeds), ''])
    with open(out, 'w') as f:
        f.write(text)
    return text


if __name__ == '__main__':
    main()
