import type { Provider, ProviderCapabilities } from './provider.ts';

/**
 * A provider whose implementation is loaded on its first call. Its name and capabilities are known without it, so a
 * command that never talks to the provider (a warm `run --id`, decision 0063) never loads it: the AWS SDK alone
 * takes 250-340 ms to load on the CLI's way to the box.
 */
export function lazyProvider(name: string, capabilities: ProviderCapabilities, load: () => Promise<Provider>): Provider {
  let loading: Promise<Provider> | undefined;
  const real = (): Promise<Provider> => (loading ??= load());
  const provider: Provider = {
    name,
    capabilities,
    create: async (spec, options) => (await real()).create(spec, options),
    get: async (providerId) => (await real()).get(providerId),
    list: async (selector) => (await real()).list(selector),
    setLabels: async (providerId, labels) => (await real()).setLabels(providerId, labels),
    delete: async (providerId) => (await real()).delete(providerId),
    hourlyPrice: async (type) => (await real()).hourlyPrice(type),
  };
  if (capabilities.danglingObjects) {
    provider.sweepDangling = async (options) => {
      const loaded = await real();
      if (!loaded.sweepDangling) throw new Error(`provider ${name} has no dangling sweep`);
      return loaded.sweepDangling(options);
    };
  }
  return provider;
}
