// PLACEHOLDER: being written; closes the connection until then.
#include "handlers.hpp"

namespace keel::kafka {

void handle_init_producer_id(Services&, Request&, const Responder& respond) { respond.close(); }

}  // namespace keel::kafka
