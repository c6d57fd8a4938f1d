/**
 * The confirmation phrase of a browser login: three words the coordinator picks at start, the CLI prints and the
 * confirmation page shows. It is not a secret (whoever started the login knows it); it lets a person check that the
 * login their browser is about to approve is the one their own terminal started, and not one someone sent them.
 * 256 words, so three carry 24 bits: an attacker cannot pick a phrase to match a login someone else is doing.
 */
const WORDS = [
  'acorn', 'amber', 'anchor', 'apple', 'arrow', 'aspen', 'atlas', 'autumn', 'badge', 'badger', 'bagel', 'bamboo',
  'banjo', 'barley', 'basil', 'beacon', 'beaver', 'berry', 'birch', 'bison', 'blade', 'bluff', 'bonsai', 'boulder',
  'branch', 'breeze', 'brick', 'bridge', 'brook', 'bubble', 'bucket', 'buffalo', 'button', 'cabin', 'cactus',
  'camel', 'candle', 'canoe', 'canyon', 'carbon', 'carrot', 'castle', 'cedar', 'cello', 'chalk', 'cherry', 'chess',
  'cider', 'cinder', 'citrus', 'clover', 'cobalt', 'cobra', 'cocoa', 'comet', 'copper', 'coral', 'cotton', 'cradle',
  'crane', 'crater', 'cricket', 'crow', 'crystal', 'cypress', 'daisy', 'delta', 'desert', 'dingo', 'dolphin',
  'domino', 'dragon', 'drum', 'dune', 'eagle', 'easel', 'echo', 'elbow', 'ember', 'emerald', 'falcon', 'feather',
  'fennel', 'fern', 'fiddle', 'finch', 'fjord', 'flame', 'flint', 'forest', 'fossil', 'fox', 'galaxy', 'garden',
  'garnet', 'gecko', 'geyser', 'ginger', 'glacier', 'globe', 'goose', 'granite', 'grape', 'gravel', 'grove',
  'guitar', 'hammock', 'harbor', 'harp', 'hazel', 'heron', 'hickory', 'honey', 'horizon', 'husky', 'igloo', 'indigo',
  'iris', 'island', 'ivory', 'jacket', 'jade', 'jaguar', 'jasmine', 'jelly', 'jungle', 'kayak', 'kernel', 'kettle',
  'kiwi', 'koala', 'ladder', 'lagoon', 'lantern', 'larch', 'lava', 'lemon', 'lichen', 'lilac', 'lily', 'linen',
  'lizard', 'llama', 'lobster', 'locket', 'lotus', 'lumber', 'lynx', 'magnet', 'mango', 'maple', 'marble', 'marsh',
  'meadow', 'melon', 'meteor', 'mint', 'mitten', 'monsoon', 'moose', 'mosaic', 'moss', 'muffin', 'nebula', 'nectar',
  'nickel', 'nutmeg', 'oasis', 'ocean', 'olive', 'onyx', 'orbit', 'orchid', 'otter', 'owl', 'oyster', 'paddle',
  'panda', 'papaya', 'parrot', 'pebble', 'pelican', 'pepper', 'pigeon', 'pillow', 'pine', 'planet', 'plum', 'pocket',
  'polar', 'pond', 'poppy', 'prairie', 'puffin', 'pumpkin', 'quartz', 'quill', 'quokka', 'rabbit', 'radish', 'raven',
  'reef', 'ribbon', 'river', 'robin', 'rocket', 'saddle', 'saffron', 'salmon', 'sandal', 'scarf', 'shadow', 'shell',
  'shore', 'silver', 'sketch', 'sled', 'sloth', 'snail', 'sparrow', 'spruce', 'squash', 'starling', 'stone',
  'summit', 'sunset', 'swan', 'tablet', 'tango', 'teapot', 'thistle', 'thunder', 'tiger', 'timber', 'tomato',
  'topaz', 'tornado', 'tulip', 'tundra', 'turnip', 'turtle', 'valley', 'velvet', 'violet', 'volcano', 'waffle',
  'walnut', 'walrus', 'willow', 'window', 'winter', 'wombat', 'yarrow', 'zebra', 'zephyr', 'zinnia',
] as const;

/** Three words joined by dashes, from Web Crypto (256 words: one byte picks one without bias). */
export function newPhrase(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  return Array.from(random(3), (b) => WORDS[b]!).join('-');
}

export const PHRASE_PATTERN = /^[a-z]{2,10}-[a-z]{2,10}-[a-z]{2,10}$/;
export const PHRASE_WORDS: readonly string[] = WORDS;
