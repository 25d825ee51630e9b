"""The channels: how customers reach the bot (REST, the web app's chat, the phone).

Each channel translates its wire format to Rasa messages and the bot's reply
(bot/protocol.py) back; none of them reads the dialogue's slots.
"""
