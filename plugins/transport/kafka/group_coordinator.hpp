// PLACEHOLDER: being written.
#pragma once
namespace keel::kafka {
class Services;
class GroupCoordinator {
 public:
  explicit GroupCoordinator(Services&) {}
};
}  // namespace keel::kafka
