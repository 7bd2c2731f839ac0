/**
 * Tests by what they need: test/unit is pure TypeScript (loading the addon fails there),
 * test/native loads the addon but needs no broker, test/integration talks to the real RabbitMQ
 * at AMQP_URL. `npm test` runs all three; `npm run test:unit` (and :native, :integration) one.
 */
const base = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
};

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      // Any import of lib/native (./native from lib/, ../native from lib/client/) is refused.
      moduleNameMapper: { '^(\\.\\./)*(\\.\\./lib/|\\./|\\.\\./)native$': '<rootDir>/test/support/no-addon.ts' },
    },
    { ...base, displayName: 'native', testMatch: ['<rootDir>/test/native/**/*.test.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
  ],
};
