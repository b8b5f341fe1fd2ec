"""Media plumbing shared by every layer: finding and running ffmpeg, probing with PyAV."""
