#pragma once

// Declarations for headers that only hold or pass metrics objects: metrics.h pulls in
// prometheus-cpp, which every file including a reflector header would otherwise compile.
namespace rfbcast::metrics {
class Metrics;
class SessionMetrics;
}  // namespace rfbcast::metrics
