// Lint rules: typescript-eslint's recommended set, plus the project's bans
// and its module boundaries (roles talk through their index.ts)
// (no `any`, no floating promises are caught by the type checker's strict mode).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ROLES = ['istiod', 'ztunnel', 'mesh', 'cli'];

/** Another role is reached only through its index.ts; the native addon only from src/ztunnel/redirect/. */
function roleBoundaries(role) {
  const others = ROLES.filter((r) => r !== role);
  return {
    files: [role === 'shared' ? 'src/shared/**/*.ts' : `src/${role}/**/*.ts`],
    ignores: ['src/ztunnel/redirect/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...others.map((r) =>
              role === 'shared'
                ? { group: [`**/${r}/**`, `**/${r}/*.js`], message: `shared/ is for what roles share: it imports no role (${r}).` }
                : {
                    group: [`**/${r}/**`, `!**/${r}/index.js`],
                    message: `import the ${r} role through its index.ts ("../${r}/index.js"), not its internals.`,
                  },
            ),
            {
              group: ['**/redirect/native.js', '**/*.node'],
              message: 'only src/ztunnel/redirect/ loads the native addon; use its index.ts.',
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'src/gen/**', 'node_modules/**', 'build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...[...ROLES, 'shared'].map(roleBoundaries),
);
