"""benchmarks/neck_cost.py puts the fused pair's table into the attention page as a marked
section: added once, replaced on the next run, the rest of the page kept."""
import os

from helpers import ROOT, benchmark_module


def _neck_cost():
    return benchmark_module('neck_cost')


def _data(ms_add, ms_aff):
    rows = [dict(case='pair', repeat=0, batch=1, form='eager', neck=neck, ms=ms)
            for neck, ms in (('add', ms_add), ('aff', ms_aff), ('iaff', 2 * ms_aff))]
    return dict(date='2026-01-02', command='python benchmarks/neck_cost.py', where='a CPU',
                pair_size=64, pair_macs=dict(add=100e6, aff=125e6, iaff=150e6), pairs=rows)


def test_the_pair_section_is_added_then_replaced(tmp_path):
    bench = _neck_cost()
    page = tmp_path / 'attention_cost.md'
    page.write_text('# What the attention costs\n\nthe rest of the page\n')
    bench.write_pair_section(str(page), _data(2.0, 5.0))
    text = page.read_text()
    assert text.startswith('# What the attention costs\n\nthe rest of the page\n')
    assert '| 1 | eager | aff | 5.00 | 5.00 | 5.00 | 2.500x (2.500-2.500) | 1.250x |' in text
    assert 'at 64 x 64' in text and 'add 100.0 M, aff 125.0 M, iaff 150.0 M' in text
    bench.write_pair_section(str(page), _data(2.0, 3.0))
    again = page.read_text()
    assert again.count(bench.PAIR_BEGIN) == again.count(bench.PAIR_END) == 1
    assert '| 1 | eager | aff | 3.00 | 3.00 | 3.00 | 1.500x (1.500-1.500) | 1.250x |' in again
    assert '2.500x' not in again and 'the rest of the page' in again


def test_the_attention_page_holds_the_measured_pair():
    bench = _neck_cost()
    with open(os.path.join(ROOT, 'benchmarks', 'attention_cost.md')) as f:
        page = f.read()
    section = page[page.index(bench.PAIR_BEGIN):page.index(bench.PAIR_END)]
    assert 'Maps of 64 and 128 channels at 64 x 64' in section
    assert sum(line.startswith('| 1 | ') for line in section.splitlines()) == 9
