// @hey-api/openapi-ts config for the TypeScript SDK (sdk/generate.sh, `npm run sdk:ts`).
// Paths are relative to the repository root, where npm runs the script.
import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  input: process.env.SDK_SPEC ?? 'openapi.json',
  output: 'build/sdk/typescript', // sdk/tsconfig.json and sdk/example.ts import it from here
  // The fetch client is bundled into the output since openapi-ts 0.73: no runtime package.
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
});
