#include "greet.h"

const char *greet_message(void) { return "Hello, godrv! from libgreet"; }
