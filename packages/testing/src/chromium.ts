/**
 * Options for playwright-core's `chromium.launch()`: the system Chromium ($CHROMIUM_PATH overrides),
 * run as root in a container (no sandbox), without a GPU, and without background calls home that
 * could make a page test depend on the network.
 */
export const CHROMIUM: { executablePath: string; args: string[] } = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
};
