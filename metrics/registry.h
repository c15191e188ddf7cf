#pragma once
// Placeholder until the metrics families land (issue 9 fills this library).
