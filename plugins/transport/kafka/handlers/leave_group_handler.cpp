// PLACEHOLDER: being written; closes the connection until then.
#include "handlers.hpp"

namespace keel::kafka {

void handle_leave_group(Services&, Request&, const Responder& respond) { respond.close(); }

}  // namespace keel::kafka
