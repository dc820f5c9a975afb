"""benchmarks/gpu_bench.py, dry-run on the CPU: every configuration runs and is written, the
ratios are the rows' own times, and the time budget stops what is left by name."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'benchmarks', 'gpu_bench.py')
# aff_resnet50 runs the code iaff_resnet50 runs (the same forms and steps), left out here
NETWORKS = ['resnet50_add', 'iaff_resnet50']
FORMS = ['eager', 'channels-last', 'bf16', 'fp16', 'compile']


def _run(tmp_path, *extra):
    proc = subprocess.run([sys.executable, SCRIPT, '--dry-run', '--out-dir', str(tmp_path)]
                          + list(extra), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / 'gpu_results.json') as f:
        return json.load(f), (tmp_path / 'gpu_results.md').read_text()


@pytest.mark.e2e
def test_the_dry_run_measures_every_configuration(tmp_path):
    data, page = _run(tmp_path, '--networks', 'iaff_resnet50')
    rows = data['rows']
    want = {(n, f, b, m) for n in NETWORKS for f in FORMS for b in (1, 2)
            for m in ('inference', 'train')}
    assert {(r['model'], r['form'], r['batch'], r['mode']) for r in rows} == want
    failed = [r for r in rows if not r.get('img_per_s')]
    assert not failed, failed
    speed = {(r['model'], r['form'], r['batch'], r['mode']): r['img_per_s'] for r in rows}
    for r in rows:
        base = speed['resnet50_add', r['form'], r['batch'], r['mode']]
        assert abs(r['vs_add'] - base / r['img_per_s']) < 1e-9
    assert data['device'] == 'CPU (dry run)' and 'CPU (dry run)' in page
    assert page.count('\n| inference |') == page.count('\n| train |') == 20
    # the feature pyramids after the networks: every neck and form, timed
    necks = json.loads((tmp_path / 'neck_cost_gpu.json').read_text())
    assert {(r['neck'], r['form'], r['batch']) for r in necks['rows']} == {
        (n, f, b) for n in ('add', 'aff', 'iaff') for f in ('eager', 'optimize') for b in (1, 8)}
    assert all(r['ms'] > 0 for r in necks['rows'])


def test_the_time_budget_names_what_it_left_out(tmp_path):
    data, page = _run(tmp_path, '--budget-s', '0', '--no-necks')
    assert all(r['skipped'].startswith('time budget') for r in data['rows'])
    assert page.count('skipped: time budget') == 60
