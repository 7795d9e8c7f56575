// PLACEHOLDER: being written.
#pragma once
namespace keel::kafka {
class Services;
class ProducerStateTable {
 public:
  explicit ProducerStateTable(Services&) {}
};
}  // namespace keel::kafka
