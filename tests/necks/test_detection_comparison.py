"""The dense-task comparison's parts: the digit scenes (reproducible; boxes, areas and
masks that agree, checked by decoding the masks), COCOeval scoring (ground truth scores
AP 1, boxes shifted by half their size score 0), and benchmarks/neck_detection.py --quick
end to end."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from gluon_aff.core.digit_scenes import digit_scenes
from gluon_aff.torch.necks import detection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def digits():
    return load_digits()


def test_scenes_are_reproducible_and_their_boxes_fit_their_masks(digits):
    from pycocotools import mask as coco_mask
    images, coco = digit_scenes(digits, 12, size=96, seed=3, max_side=90)
    again, coco_again = digit_scenes(digits, 12, size=96, seed=3, max_side=90)
    assert all(np.array_equal(a, b) for a, b in zip(images, again)) and coco == coco_again
    assert not np.array_equal(images[0], digit_scenes(digits, 1, size=96, seed=4)[0][0])
    assert images[0].shape == (96, 96, 3) and images[0].dtype == np.uint8
    anns = coco['annotations']
    assert len(anns) >= 2 * 12 * 0.8 and {a['category_id'] for a in anns} <= set(range(1, 11))
    for a in anns:
        m = coco_mask.decode(dict(a['segmentation'], counts=a['segmentation']['counts']
                                  .encode('ascii')))
        ys, xs = np.nonzero(m)
        assert a['bbox'] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                             ys.max() - ys.min() + 1]
        assert a['area'] == m.sum()
    areas = [a['bbox'][2] * a['bbox'][3] for a in anns]
    assert min(areas) < 32 ** 2 <= max(areas)        # small and medium objects both occur


class _Oracle(torch.nn.Module):
    """Returns the ground truth (optionally shifted) as detections."""

    def __init__(self, targets, shift=0.0):
        super().__init__()
        self.targets, self.shift, self.seen = targets, shift, 0

    def forward(self, images):
        out = []
        for _ in images:
            t = self.targets[self.seen]
            self.seen += 1
            boxes = t['boxes'].clone()
            size = boxes[:, 2:] - boxes[:, :2]
            boxes += torch.cat([size, size], 1) * self.shift
            out.append({'boxes': boxes, 'labels': t['labels'],
                        'scores': torch.ones(len(boxes))})
        return out


def test_coco_scoring_gives_one_for_the_truth_and_zero_for_boxes_half_off(digits):
    images, targets, coco = detection.scenes(digits, 6, 96, seed=5)
    perfect = detection.evaluate_coco(_Oracle(targets), images, coco, batch=4)
    assert perfect['AP'] == perfect['AP50'] == 1.0
    off = detection.evaluate_coco(_Oracle(targets, shift=0.5), images, coco, batch=4)
    assert off['AP50'] == 0.0        # IoU of a box moved by half its size: 1/7


@pytest.mark.e2e
def test_the_comparison_runs_quick_and_writes_its_table(tmp_path):
    out = tmp_path / 'neck_detection.md'
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'benchmarks',
                                                        'neck_detection.py'),
                           '--quick', '--out', str(out)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = json.loads((tmp_path / 'neck_detection.json').read_text())['runs']
    assert [r['neck'] for r in runs] == ['add', 'aff', 'iaff']
    for r in runs:
        assert all(-1 <= r[m] <= 1 for m in detection.METRICS) and r['seconds'] > 0
    page = out.read_text()
    assert page.count('\n| add |') == page.count('\n| aff |') == page.count('\n| iaff |') == 1
    assert '--quick' in page
