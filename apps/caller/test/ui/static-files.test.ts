// Guards on the UI's source: relative URLs only (it is served behind gateways under any prefix)
// and nothing fetched from elsewhere. (No HTML parsing of strings: eslint.config.js bans the APIs.)
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
      // The SVG namespace is an identifier that nothing fetches; any other URL is a load.
      const text = (await publicFile(name)).replaceAll("'http://www.w3.org/2000/svg'", '');
      expect(text, name).not.toMatch(/https?:\/\//);
      expect(text, name).not.toMatch(/@import|url\(/);
    }
  });
});
