// The README's option list states each default; DEFAULTS is where the code takes them from. This
// keeps the two from drifting apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/service-client.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** `**name** … **Default:** \`value\``, from the option's bullet up to its default. */
function documentedDefault(name: string): string | undefined {
  const match = new RegExp(`- \\*\\*${name}\\*\\* [^]*?\\*\\*Default:\\*\\* \`([^\`]+)\``).exec(
    README,
  );
  return match?.[1];
}

function flatten(values: object, prefix = ''): Array<[string, unknown]> {
  return Object.entries(values as Record<string, unknown>).flatMap(
    ([key, value]): Array<[string, unknown]> =>
      typeof value === 'object' && value !== null
        ? [[`${prefix}${key}`, value], ...flatten(value, '')]
        : [[`${prefix}${key}`, value]],
  );
}

/** How the README writes a value: numbers as is, objects as `{ key: value, … }`. */
function written(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value).map(([key, field]) => `${key}: ${written(field)}`);
    return `{ ${fields.join(', ')} }`;
  }
  return String(value);
}

describe('README defaults', () => {
  it.each(flatten(DEFAULTS))('states the default of %s as DEFAULTS has it', (name, value) => {
    expect(documentedDefault(name)).toBe(written(value));
  });
});
