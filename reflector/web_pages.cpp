#include "reflector/web_pages.h"

#include "codec/http_response.h"

namespace rfbcast {
namespace {

constexpr const char* kStyle =
    "<style>body{font-family:sans-serif;margin:2em;background:#f4f4f4;color:#222}"
    "table{border-collapse:collapse}td,th{padding:.4em 1em;text-align:left;"
    "border-bottom:1px solid #ccc}a{color:#0645ad}.msg{font-size:1.3em}</style>";

}  // namespace

std::string session_listing_page(const std::vector<WebSessionInfo>& sessions) {
    std::string page =
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>rfbcast sessions</title>";
    page += kStyle;
    page += "</head><body><h1>Sessions</h1>";
    if (sessions.empty()) {
        page += "<p id=\"empty\">No session is open to browsers here.</p>";
    } else {
        page +=
            "<table id=\"sessions\"><tr><th>Session</th><th>Desktop</th><th>Size</th>"
            "<th>Viewers</th></tr>";
        for (const WebSessionInfo& s : sessions) {
            page += "<tr><td><a href=\"/view/" + rfb::percent_encode(s.name) + "\">" +
                    rfb::html_escape(s.name) + "</a></td><td>" + rfb::html_escape(s.desktop) +
                    "</td><td>" +
                    (s.upstream_up ? std::to_string(s.width) + "&times;" + std::to_string(s.height)
                                   : std::string("offline")) +
                    "</td><td>" + std::to_string(s.viewers) + "</td></tr>";
        }
        page += "</table>";
    }
    page += "</body></html>\n";
    return page;
}

std::string message_page(int status, const std::string& message) {
    std::string page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                       std::to_string(status) + " " + std::string(rfb::http_reason_phrase(status)) +
                       "</title>";
    page += kStyle;
    page += "</head><body><p class=\"msg\" id=\"message\">" + rfb::html_escape(message) +
            "</p></body></html>\n";
    return page;
}

}  // namespace rfbcast
