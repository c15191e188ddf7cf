#pragma once
#include <string>
#include <vector>

#include "reflector/web_router.h"

// The pages the HTTP listener writes itself (the viewer page is a static file).
namespace rfbcast {

// "/": the sessions a visitor may open, each linking to /view/<name>.
std::string session_listing_page(const std::vector<WebSessionInfo>& sessions);
// A refusal the visitor reads in the browser (an expired link, an unknown session).
std::string message_page(int status, const std::string& message);

}  // namespace rfbcast
