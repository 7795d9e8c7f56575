#include <keel/authorizer.hpp>

#include "authorizer/acl/acl_authorizer.hpp"

KEEL_PLUGIN("acl", "1.0.0", keel::sdk::authorizer_strategy<keel::acl::AclAuthorizer>("acl"))
