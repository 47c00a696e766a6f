// The preset from source: this package's own build is what the others' configs import.
import { definePackageTests } from './src/vitest-preset.js';

export default definePackageTests();
