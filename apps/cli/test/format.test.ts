import { describe, expect, it } from 'vitest';
import { displayWidth, table } from '../src/format.js';

describe('table', () => {
  it('lines up names in any script: wide characters take two columns, combining marks none', () => {
    expect(displayWidth('水彩画 Watercolor')).toBe(17);
    expect(displayWidth('Cafe\u0301')).toBe(4);
    expect(displayWidth('Детализация')).toBe(11);
    const text = table(
      ['NAME', 'SIZE'],
      [
        ['水彩画 Watercolor @ Style', '1 MiB'],
        ['Hand Detail FLUX & XL', '2 MiB'],
      ],
    );
    const [header, first, second] = text.split('\n');
    const sizeColumn = (line: string, size: string) => displayWidth(line.slice(0, line.indexOf(size)));
    expect(sizeColumn(first!, '1 MiB')).toBe(sizeColumn(header!, 'SIZE'));
    expect(sizeColumn(second!, '2 MiB')).toBe(sizeColumn(header!, 'SIZE'));
  });
});
