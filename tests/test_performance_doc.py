"""Timings live in docs/performance.md, with commands that exist, not in code comments."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PERFORMANCE = REPO / 'docs' / 'performance.md'
TOOLS = REPO / 'tools' / 'analysis_tools'
# A measured duration or speed-up: "~1.5 ms", "0.24 ms", "3x faster", "7 % faster",
# "samples/s", "measured here". Units alone ("100 µs ticks", "(i + 1) · 100 ms") pass.
TIMING = re.compile(r'[~≈]\s?\d[\d.]*\s?(?:ms|µs|s)\b|\d+\.\d+\s?(?:ms|µs)\b'
                    r'|\d[\d.]*\s?[x×]\s(?:faster|slower)|\d\s?%\s(?:faster|slower|less time)'
                    r'|samples/s|Mev/s|\bmeasured (?:here|on)|millisecond')


def _code_files() -> list[Path]:
    return [*sorted((REPO / 'sparkpose').rglob('*.py')), *sorted((REPO / 'configs').rglob('*.py')),
            REPO / 'setup.cfg', REPO / 'Makefile']


def test_the_pattern_finds_timings_and_passes_units():
    assert TIMING.search('# costs ~1.5 ms per file')
    assert TIMING.search('a pread: 0.08 ms, measured here')
    assert TIMING.search('take() is ~4x faster')
    assert not TIMING.search('ticks of 100 µs; label i at (i + 1) · 100 ms; 0.4 s')


def test_no_timing_figures_in_code_or_config_comments():
    found = [f'{path.relative_to(REPO)}:{number}: {line.strip()}'
             for path in _code_files()
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if TIMING.search(line)]
    assert not found, 'move these figures to docs/performance.md:\n' + '\n'.join(found)


def test_every_benchmark_command_of_the_page_exists_with_its_flags():
    commands = re.findall(r'`(?:python tools/analysis_tools/)?(benchmark_\w+\.py)([^`]*)`',
                          PERFORMANCE.read_text())
    assert len(commands) >= 15
    for script, arguments in commands:
        source = (TOOLS / script).read_text()
        for flag in re.findall(r'(?<!\S)(--[\w-]+)', arguments):
            assert f"'{flag}'" in source, f'docs/performance.md: {script} has no {flag}'
        for case in re.findall(r'--cases ([\w -]+)', arguments):
            for name in case.split():
                assert f"'{name}'" in source, f'docs/performance.md: {script} has no {name}'


def test_readme_links_the_page():
    assert '(docs/performance.md)' in (REPO / 'README.md').read_text()
