// Guards on the UI's source: relative URLs only (it is served behind gateways under any prefix),
// nothing fetched from elsewhere, and no HTML parsing of strings in its scripts.
import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { PUBLIC_DIR } from './scripted-caller.js';

async function publicFile(name: string): Promise<string> {
  return readFile(`${PUBLIC_DIR}${name}`, 'utf8');
}

describe('caller UI static files', () => {
  it('references its stylesheet, module and icon by relative URLs only', async () => {
    const html = await publicFile('index.html');
    const urls = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    expect(urls.sort()).toEqual(['app.js', 'favicon.svg', 'styles.css']);
    expect(html).toMatch(/<meta name="viewport" content="width=device-width, initial-scale=1"/);
  });

  it('calls the caller through a relative URL and loads no external resource', async () => {
    const app = await publicFile('app.js');
    expect(app).toContain("const MESSAGES_URL = 'caller/messages';");
    const files = (await readdir(PUBLIC_DIR)).filter((name) => /\.(js|css|html)$/.test(name));
    for (const name of files) {
      const text = await publicFile(name);
      expect(text, name).not.toMatch(/https?:\/\//);
      expect(text, name).not.toMatch(/@import|url\(/);
    }
  });

  it('never turns strings into HTML in its scripts', async () => {
    for (const name of ['app.js', 'render.js']) {
      // Comments may name the APIs they avoid; the code may not use them.
      const code = (await publicFile(name)).replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
      expect(code, name).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\(/,
      );
    }
  });
});
