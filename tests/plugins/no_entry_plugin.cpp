// A plain shared library that exports something, but not the Keel entry
// symbol: e.g. an unrelated .so dropped into the plugin directory.
extern "C" __attribute__((visibility("default"))) int keel_plugin_entry_point_misspelled(void) { return 42; }
