import {
  extractDoi,
  formatBytes,
  formatDuration,
  formatRelative,
  modClass,
  parseRucioDate
} from '../format';
import { dirname, normalizePath, relativeToServerRoot } from '../paths';
import { pathsSnippet } from '../snippets';
import { trans } from './testUtils';

describe('format', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [4096, '4.1 kB'],
    [26112, '26.1 kB'],
    [198144, '198 kB'],
    [1.5e9, '1.5 GB'],
    [3.2e15, '3.2 PB'],
    [null, '–']
  ])('writes %p bytes as %p', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([
    [30, '30 seconds'],
    [1, '1 second'],
    [59 * 60 + 40, '59 min'],
    [3600, '1 h'],
    [3900, '1 h 5 min'],
    [3 * 86400, '3 days'],
    [7 * 86400 - 3600, '7 days'],
    [-5, '0 seconds']
  ])('writes %p seconds as %p', (seconds, text) => {
    expect(formatDuration(seconds, trans)).toBe(text);
  });

  it("reads Rucio's zone-less dates as UTC", () => {
    expect(parseRucioDate('2026-11-24T22:25:24')?.toISOString()).toBe(
      '2026-11-24T22:25:24.000Z'
    );
    expect(parseRucioDate('2026-11-24T22:25:24+01:00')?.toISOString()).toBe(
      '2026-11-24T21:25:24.000Z'
    );
    expect(parseRucioDate(null)).toBeNull();
    expect(parseRucioDate('soon')).toBeNull();
    const now = Date.parse('2026-11-23T22:25:24Z');
    expect(
      formatRelative(parseRucioDate('2026-11-24T22:25:24')!, now, trans)
    ).toBe('in 24 h');
    expect(
      formatRelative(parseRucioDate('2026-11-23T20:25:24')!, now, trans)
    ).toBe('2 h ago');
  });

  it('finds DOIs in their usual spellings', () => {
    expect(extractDoi('10.5072/escape.lofar.712342')).toBe(
      '10.5072/escape.lofar.712342'
    );
    expect(extractDoi('doi:10.1000/xyz')).toBe('10.1000/xyz');
    expect(extractDoi('https://doi.org/10.1000/xyz')).toBe('10.1000/xyz');
    expect(extractDoi('not a doi')).toBeNull();
    expect(extractDoi(10.5)).toBeNull();
  });

  it('makes state classes that follow the jp-mod- pattern', () => {
    expect(modClass('NOT_AVAILABLE')).toBe('jp-mod-not-available');
    expect(modClass('OK')).toBe('jp-mod-ok');
  });
});

describe('paths', () => {
  it('maps absolute paths to the file browser, only inside the server root', () => {
    expect(
      relativeToServerRoot('/lake/rses/notebook-local/ska/64/25', '/lake/rses')
    ).toBe('notebook-local/ska/64/25');
    expect(
      relativeToServerRoot('/lake/rses/notebook-local', '/lake/rses/')
    ).toBe('notebook-local');
    expect(relativeToServerRoot('/lake/rses', '/lake/rses')).toBe('');
    expect(relativeToServerRoot('/lake/rsesX/a', '/lake/rses')).toBeNull();
    expect(
      relativeToServerRoot('/lake/rses/../secrets', '/lake/rses')
    ).toBeNull();
    expect(relativeToServerRoot('/data/x', '/')).toBe('data/x');
    expect(relativeToServerRoot('/data/x', '')).toBeNull();
    expect(relativeToServerRoot('/data/x', '~/work')).toBeNull();
  });

  it('normalises paths', () => {
    expect(normalizePath('/a//b/./c/../d/')).toBe('/a/b/d');
    expect(dirname('/a/b/c.fits')).toBe('/a/b');
    expect(dirname('/c.fits')).toBe('/');
  });
});

describe('pathsSnippet', () => {
  const options = {
    did: 'lofar:L2023_712342_HBA',
    paths: ['/data/a "x".fits', '/data/$b.fits'],
    missing: ['lofar:c'],
    comments: {
      header: 'Local paths of lofar:L2023_712342_HBA',
      missing: '1 file is not here yet.'
    }
  };

  it('writes a Python list, escaping the paths', () => {
    expect(pathsSnippet(options)).toBe(
      [
        '# Local paths of lofar:L2023_712342_HBA',
        '# 1 file is not here yet.',
        'paths = [',
        '    "/data/a \\"x\\".fits",',
        '    "/data/$b.fits",',
        ']'
      ].join('\n')
    );
  });

  it('writes R and Julia too', () => {
    expect(pathsSnippet({ ...options, language: 'R', missing: [] })).toBe(
      [
        '# Local paths of lofar:L2023_712342_HBA',
        'paths <- c(',
        '  "/data/a \\"x\\".fits",',
        '  "/data/$b.fits"',
        ')'
      ].join('\n')
    );
    expect(
      pathsSnippet({ ...options, language: 'julia', missing: [] })
    ).toContain('"/data/\\$b.fits"');
    expect(pathsSnippet({ ...options, paths: [], missing: [] })).toBe(
      '# Local paths of lofar:L2023_712342_HBA\npaths = []'
    );
  });
});
