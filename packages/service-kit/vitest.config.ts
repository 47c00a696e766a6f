import { definePackageTests } from '@s2s/test-support/vitest-preset';

export default definePackageTests();
