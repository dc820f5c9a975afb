"""train_seg.py on a generated COCO-format StopSign set (octagons at several scales,
polygon annotations, distractor categories)."""
import glob
import json
import os

import numpy as np
import pytest

from helpers import TEST_SEED, record_metric, run_script
from gluon_aff.data.stopsign import make_synthetic_stopsign as make_coco
from gluon_aff.train.seg import confusion, main, scores
# benchmarks/learning_margins.md: 3 seeds x oneDNN levels; at least 3 points under the worst
IOU_THRESHOLD = 0.5


def test_scores_of_a_confusion_matrix():
    pred = np.array([[0, 1], [1, 1]])
    label = np.array([[0, 1], [0, 1]])
    conf = confusion(pred, label)
    assert conf.tolist() == [[1, 1], [0, 2]]
    s = scores(conf)
    assert s['pixel_acc'] == 0.75 and s['fg_iou'] == pytest.approx(2 / 3)
    assert s['miou'] == pytest.approx((0.5 + 2 / 3) / 2)


def test_train_seg_learns_generated_stop_signs(tmp_path):
    make_coco(str(tmp_path / 'coco'), n=60)
    argv = ['--coco-root', str(tmp_path / 'coco'), '--input-size', '64', '--batch-size', '8',
            '--num-epochs', '12', '--val-fraction', '0.25', '--progress', 'off',
            '--model', 'fpn_resnet20_aff_b1', '--seed', str(TEST_SEED),
            '--save-dir', str(tmp_path / 'params'),
            '--logging-dir', str(tmp_path / 'logs')]
    run_script('train_seg.py', argv)
    with open(str(tmp_path / 'params' / 'stopsign-fpn_resnet20_aff_b1-history.json')) as f:
        history = json.load(f)
    assert len(history) == 12
    best = record_metric('stopsign_iou', max(h['fg_iou'] for h in history), IOU_THRESHOLD)
    assert best >= IOU_THRESHOLD, [round(h['fg_iou'], 3) for h in history]
    assert history[-1]['lr'] < history[0]['lr']                       # poly schedule
    assert os.path.isfile(str(tmp_path / 'params' / 'stopsign-fpn_resnet20_aff_b1-best.params'))
    log = open(str(tmp_path / 'logs' / 'train_stopsign-fpn_resnet20_aff_b1.log')).read()
    assert 'stop-sign IoU' in log and 'mIoU' in log


@pytest.mark.e2e
def test_train_seg_auto_resume_continues_bit_for_bit(tmp_path):
    """A run that lost its last epoch (its files deleted, as a kill in epoch 2 leaves them)
    and is rerun with --auto-resume ends with the uninterrupted run's weights, bit for bit."""
    make_coco(str(tmp_path / 'coco'), n=12)
    argv = ['--coco-root', str(tmp_path / 'coco'), '--input-size', '32', '--batch-size', '4',
            '--num-epochs', '3', '--save-period', '1', '--progress', 'off',
            '--model', 'fpn_resnet20_iaff_b1', '--seed', '1', '--auto-resume',
            '--save-dir', str(tmp_path / 'params'), '--logging-dir', str(tmp_path / 'logs')]
    run_script('train_seg.py', argv)
    last = str(tmp_path / 'params' / 'stopsign-fpn_resnet20_iaff_b1-2')
    expected = open(last + '.params', 'rb').read()
    for meta in glob.glob(str(tmp_path / 'params' / '*.json')):
        with open(meta) as f:
            saved = json.load(f)
        if isinstance(saved, dict) and saved['next_epoch'] == 3:   # the last epoch's, best too
            for ext in ('.params', '.states', '.json'):
                os.remove(meta[:-len('.json')] + ext)
    run_script('train_seg.py', argv)
    assert open(last + '.params', 'rb').read() == expected
    log = open(str(tmp_path / 'logs' / 'train_stopsign-fpn_resnet20_iaff_b1.log')).read()
    assert 'continuing at epoch 2' in log
    with open(str(tmp_path / 'params' / 'stopsign-fpn_resnet20_iaff_b1-history.json')) as f:
        assert [h['epoch'] for h in json.load(f)] == [0, 1, 2]


def test_train_seg_errors(tmp_path, capsys):
    assert main(['--num-epochs', '1']) == 2
    assert '--coco-root' in capsys.readouterr().err
    assert main(['--coco-root', str(tmp_path / 'nowhere')]) == 2
    assert 'not found' in capsys.readouterr().err
    path = make_coco(str(tmp_path / 'nostop'), n=3, stop_sign=False)
    assert main(['--ann-file', path]) == 2
    err = capsys.readouterr().err
    assert "no 'stop sign' category" in err and 'fire hydrant' in err
    assert main(['--ann-file', path, '--model', 'cifar_aff_resnet20']) == 2
    assert 'not a segmentation network' in capsys.readouterr().err
