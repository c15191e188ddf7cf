// reflector sources arrive here
