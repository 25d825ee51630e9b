"""The phone hotline (Twilio Voice): the webhook (`channel`), the call as pure
decisions (`call_flow`), TwiML (`twiml`), speakable text (`speech`), per-call
state (`store`) and turns slower than Twilio waits (`slow_turns`)."""
